import { createApiPino, TurnBatchedStdout } from './logging';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatchedStdout', () => {
  const sink = () => {
    const writes: string[] = [];
    return { writes, out: { write: (chunk: string) => void writes.push(chunk) } };
  };

  it('writes the lines logged in one event-loop turn in one write, in order, at the end of that turn', async () => {
    const { writes, out } = sink();
    const logger = createApiPino('info', new TurnBatchedStdout(out));

    logger.info('first');
    logger.info({ n: 2 }, 'second');
    logger.warn('third');
    expect(writes).toEqual([]);
    await nextTurn();

    expect(writes).toHaveLength(1);
    expect(
      writes[0]
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual(['first', 'second', 'third']);
    logger.info('next turn');
    await nextTurn();
    expect(writes).toHaveLength(2);
  });

  it('writes what is pending when flushed (the process exit handler), and calls back', () => {
    const { writes, out } = sink();
    const sut = new TurnBatchedStdout(out);
    const done = jest.fn();

    sut.write('{"msg":"last words"}\n');
    sut.flush(done);

    expect(writes).toEqual(['{"msg":"last words"}\n']);
    expect(done).toHaveBeenCalledTimes(1);
  });

  it('still redacts what it writes: a bearer token in a logged object never reaches the output', async () => {
    const { writes, out } = sink();
    const logger = createApiPino('info', new TurnBatchedStdout(out));

    logger.info({ headers: { authorization: 'Bearer abc.def.ghi' } }, 'call');
    await nextTurn();

    expect(writes.join('')).not.toContain('abc.def.ghi');
  });
});
