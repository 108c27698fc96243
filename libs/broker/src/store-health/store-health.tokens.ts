/** The process's StoreHealth (epoch, Redis configuration, memory, clock offset). */
export const STORE_HEALTH = Symbol('StoreHealth');
