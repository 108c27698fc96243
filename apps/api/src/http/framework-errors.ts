import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProblemType, type Problem } from '@leash/contracts';

/** Longest request target (path and query) the API reads; longer ones answer 414. */
export const MAX_URL_LENGTH = 8192;

const PROBLEM_JSON = 'application/problem+json';

function problem(status: number, type: string, title: string, detail: string, instance?: string): Problem {
  return { type, title, status, detail, ...(instance !== undefined ? { instance } : {}) };
}

/**
 * Errors Fastify answers before any route or Nest filter runs (a URL it cannot decode, a path
 * parameter over its length limit): problem+json like every other error of the API.
 */
export function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const body = tooLong
    ? problem(414, ProblemType.UriTooLong, 'URI too long', 'a path segment of the URL is too long')
    : problem(400, ProblemType.BadUrl, 'Bad URL', 'the URL is not valid (check its percent-encoding)');
  void reply.status(body.status).header('content-type', PROBLEM_JSON).send(body);
  void request;
}

/** Refuses request targets longer than MAX_URL_LENGTH with 414 before routing (Fastify onRequest hook). */
export function refuseLongUrls(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (request.raw.url !== undefined && request.raw.url.length > MAX_URL_LENGTH) {
    const body = problem(414, ProblemType.UriTooLong, 'URI too long', `the URL is longer than ${MAX_URL_LENGTH} bytes`);
    void reply.status(414).header('content-type', PROBLEM_JSON).send(body);
    return;
  }
  done();
}

/**
 * Errors of the HTTP parser itself (headers too large, a malformed request line), answered on the
 * raw socket as Node would, but as problem+json; the connection is then closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  const [status, title, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request header fields too large', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timeout', 'the request was not received in time']
        : [400, 'Bad request', 'the request could not be parsed as HTTP'];
  const type =
    status === 431 ? ProblemType.HeadersTooLarge : status === 408 ? ProblemType.Timeout : ProblemType.BadRequest;
  const body = JSON.stringify(problem(status, type, title, detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? title}\r\nContent-Type: ${PROBLEM_JSON}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
