export const LEASH_VERSION = '0.1.0';
