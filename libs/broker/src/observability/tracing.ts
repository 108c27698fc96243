import { context, propagation, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTraceNode from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry traces of one process, exported over OTLP/HTTP; off (no provider, no-op spans) unless
 * configured. Span attributes carry identifiers only (request, lease, provider kind), never a
 * credential, a token or a request body.
 */
export interface Tracing {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

export function startTracing(config: { tracesUrl: string } | undefined, service: string): Tracing {
  if (!config) {
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  // The SDK and the OTLP exporter are loaded only when traces are exported (they were ~5 % of the API's start-up
  // when loaded for nothing); a deployment that configures tracing still loads them here, at start.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof SdkTraceNode;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }), { scheduledDelayMillis: 1000 }),
    ],
  });
  // Global provider, AsyncLocalStorage context manager and W3C trace-context propagator.
  provider.register();
  return { enabled: true, shutdown: () => provider.shutdown() };
}

const tracer = () => trace.getTracer('leash');

/** Runs `fn` in a span that is a child of the active one. */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      // The error's class only: messages can quote provider answers.
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Adds identifiers to the active span (e.g. the lease id once a claim has one). */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The active trace context as W3C headers (`traceparent`), to carry in a job's data; empty when none. */
export function traceCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Runs `fn` in a span continuing the trace a job carried from the process that queued it. */
export function inSpanFrom<T>(
  carrier: Record<string, string> | undefined,
  name: string,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(context.active(), carrier ?? {});
  return context.with(parent, () => inSpan(name, attributes, fn));
}

/**
 * Wraps methods of `target` (all, or those named) in a span `<prefix>.<method>` that is active while
 * the method runs: the store and the providers, so a trace shows API → policy → store → provider
 * without touching their code.
 */
export function traced<T extends object>(target: T, prefix: string, methods?: readonly string[]): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string' || key === 'constructor') {
        return value;
      }
      if (methods && !methods.includes(key)) {
        return value;
      }
      const method = value as (...a: unknown[]) => unknown;
      return (...args: unknown[]) =>
        tracer().startActiveSpan(`${prefix}.${key}`, (span) => {
          const fail = (err: unknown): never => {
            span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
            span.end();
            throw err;
          };
          let result: unknown;
          try {
            result = method.apply(obj, args);
          } catch (err) {
            return fail(err);
          }
          if (!(result instanceof Promise)) {
            span.end();
            return result;
          }
          return result.then((v: unknown) => {
            span.end();
            return v;
          }, fail);
        });
    },
  });
}
