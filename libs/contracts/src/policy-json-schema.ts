import { z } from 'zod';
import { PolicySchema } from './policy-document.schema';

/** The JSON Schema of the policy file as written by people (input side: durations as text, defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicySchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    ...schema,
    $id: 'https://leash.dev/schemas/policy.schema.json',
    title: 'Leash policy',
    description: 'Role mappings, approver groups and approval rules of a Leash broker (docs/policy.md).',
  };
}
