import { parseArgs } from 'node:util';
import { client } from '../cli-context';
import { Exit, UsageError } from '../cli-errors';

/** `leash status|approve|deny|revoke ...` */
export async function simpleCommand(command: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { comment: { type: 'string' }, session: { type: 'string' } },
  });
  const api = client();
  const id = positionals[0];
  let result: unknown;
  if (command === 'revoke' && values.session) {
    result = await api.revokeSession(values.session);
  } else if (!id) {
    throw new UsageError(`leash ${command} needs an id`);
  } else if (command === 'status') {
    result = await api.getRequest(id);
  } else if (command === 'approve' || command === 'deny') {
    result = await api.decide(id, command, values.comment);
  } else {
    result = await api.revokeLease(id);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return Exit.Ok;
}
