import type { RequestView } from '@leash/contracts';
import { LocalRequestUpdates } from './local-request-updates';

const view = (id: string, state: RequestView['state'] = 'approved') => ({ id, state }) as RequestView;

describe('LocalRequestUpdates', () => {
  it('hands a published view to every long-poll of that request, and to no other', async () => {
    const sut = new LocalRequestUpdates();
    const a1 = sut.next('req-a');
    const a2 = sut.next('req-a');
    const b = sut.next('req-b');
    let bSettled = false;
    void b.view.then(() => (bSettled = true));

    sut.publish(view('req-a'));

    await expect(a1.view).resolves.toEqual(view('req-a'));
    await expect(a2.view).resolves.toEqual(view('req-a'));
    await Promise.resolve();
    expect(bSettled).toBe(false);
    b.cancel();
    expect(sut.waiting).toBe(0);
  });

  it('a long-poll that stopped waiting (cancelled, or answered otherwise) leaves nothing behind', () => {
    const sut = new LocalRequestUpdates();
    const polls = Array.from({ length: 100 }, (_, i) => sut.next(`req-${i % 10}`));
    expect(sut.waiting).toBe(10);
    polls.forEach((p) => p.cancel());
    expect(sut.waiting).toBe(0);
    sut.publish(view('req-1'));
    expect(sut.waiting).toBe(0);
  });

  it('a view published before a long-poll starts waiting is not delivered to it (the store event covers that)', async () => {
    const sut = new LocalRequestUpdates();
    sut.publish(view('req-a'));
    const late = sut.next('req-a');
    let settled = false;
    void late.view.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    late.cancel();
  });
});
