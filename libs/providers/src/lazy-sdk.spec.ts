import { lazySdk } from './lazy-sdk';
import { ProviderError, ProviderErrorCode } from './provider.errors';

describe('lazySdk: a provider client library loaded on first use', () => {
  it('does not load the library until first asked, then loads it once', () => {
    const load = jest.fn(() => ({ Client: class {} }));
    const sdk = lazySdk('gcp', load);
    expect(load).not.toHaveBeenCalled();
    const first = sdk();
    expect(sdk()).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('a library that fails to load is a retryable provider error (a 503 for the claim), and is tried again next time', () => {
    let broken = true;
    const load = jest.fn(() => {
      if (broken) {
        throw Object.assign(new Error("Cannot find module '@google-cloud/iam-credentials'"), {
          code: 'MODULE_NOT_FOUND',
        });
      }
      return { ok: true };
    });
    const sdk = lazySdk('gcp', load);
    let caught: unknown;
    try {
      sdk();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProviderError);
    expect(caught).toMatchObject({
      code: ProviderErrorCode.Retryable,
      provider: 'gcp',
      providerCode: 'SdkUnavailable',
      message: 'gcp: its client library could not be loaded',
    });
    broken = false;
    expect(sdk()).toEqual({ ok: true });
    expect(load).toHaveBeenCalledTimes(2);
  });
});
