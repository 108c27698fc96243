/** The request digest lives in the core (the lease store's record codec derives it too). */
export { requestDigest } from '@leash/core';
