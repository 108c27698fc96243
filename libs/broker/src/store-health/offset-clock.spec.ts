import fc from 'fast-check';
import { MAX_ABSORBED_STEP_BACK_MS, OffsetClock } from './offset-clock';

describe('OffsetClock', () => {
  let local = 1_800_000_000_000;
  beforeEach(() => {
    local = 1_800_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => local);
  });
  afterEach(() => jest.restoreAllMocks());

  it('is the local clock plus the measured offset', () => {
    const clock = new OffsetClock();
    expect(clock.now()).toBe(local);
    clock.setOffset(1234.4);
    expect(clock.now()).toBe(local + 1234);
  });

  it('never runs backwards over re-measured offsets and local time moving on', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ offset: fc.integer({ min: -400, max: 400 }) }),
            fc.record({ advance: fc.integer({ min: 0, max: 50 }) }),
          ),
          { maxLength: 200 },
        ),
        (steps) => {
          const clock = new OffsetClock();
          let previous = clock.now();
          for (const step of steps) {
            if ('offset' in step) {
              clock.setOffset(step.offset);
            } else {
              local += step.advance;
            }
            const now = clock.now();
            expect(now).toBeGreaterThanOrEqual(previous);
            // Held still at most until real time (local + offset) catches up: never ahead of the last reading.
            expect(now).toBeLessThanOrEqual(Math.max(previous, local + clock.offsetMs));
            previous = now;
          }
        },
      ),
    );
  });

  it('holds still after a small step back until real time catches up, then follows it', () => {
    const clock = new OffsetClock();
    clock.setOffset(50);
    const before = clock.now();
    clock.setOffset(0);
    expect(clock.now()).toBe(before);
    local += 30;
    expect(clock.now()).toBe(before);
    local += 40;
    expect(clock.now()).toBe(local);
  });

  it('follows a large step back at once instead of stalling', () => {
    const clock = new OffsetClock();
    const before = clock.now();
    clock.setOffset(-(MAX_ABSORBED_STEP_BACK_MS + 500));
    expect(clock.now()).toBe(before - MAX_ABSORBED_STEP_BACK_MS - 500);
  });
});
