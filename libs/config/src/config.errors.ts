import { LeashError } from '@leash/core';

export enum ConfigErrorCode {
  Invalid = 'config_invalid',
}

export class ConfigError extends LeashError<ConfigErrorCode> {
  readonly code = ConfigErrorCode.Invalid;
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      problems,
    });
  }
}
