/** Source of the current time; injected so expiry logic is testable without sleeping. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('Clock');

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}
