/** Injection token of the API's JsonLogger. */
export const API_LOGGER = Symbol('ApiLogger');
