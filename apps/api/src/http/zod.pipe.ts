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
    const result = this.schema.safeParse(value ?? (this.root === 'body' ? undefined : {}));
    if (!result.success) {
      throw new ValidationProblem(
        result.error.issues.map((issue) => ({
          field: [this.root, ...issue.path.map(String)].join('.'),
          message:
            issue.code === 'unrecognized_keys'
              ? `unknown field(s): ${issue.keys.join(', ')}`
              : issue.code === 'invalid_type' && issue.input === undefined
                ? 'is required'
                : issue.message,
        })),
      );
    }
    return result.data;
  }
}
