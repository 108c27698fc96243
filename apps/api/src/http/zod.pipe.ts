import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

export class ValidationProblem extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** Validates a body, query or param with a zod schema; errors name each bad field. */
@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly root = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const input = value ?? (this.root === 'body' ? undefined : {});
    const result = this.schema.safeParse(input);
    if (!result.success) {
      throw new ValidationProblem(
        result.error.issues.map((issue) => ({
          field: [this.root, ...issue.path.map(String)].join('.'),
          message:
            issue.code === 'unrecognized_keys'
              ? `unknown field(s): ${issue.keys.join(', ')}`
              : issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined
                ? 'is required'
                : issue.message,
        })),
      );
    }
    return result.data;
  }
}

/** What the caller sent at `path` (zod does not report the input of an issue unless asked to). */
function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, key)) {
      return undefined;
    }
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}
