import { Module, type DynamicModule } from '@nestjs/common';
import type { JsonLogger } from '@leash/core';
import { WORKER_CONFIG, type WorkerConfig } from '@leash/config';
import { BrokerModule, type BrokerMetrics } from '@leash/broker';

@Module({})
export class WorkerModule {
  static register(config: WorkerConfig, logger: JsonLogger, metrics: BrokerMetrics): DynamicModule {
    return {
      module: WorkerModule,
      imports: [BrokerModule.forRoot({ config, logger, app: 'worker', auditObservers: [metrics.observe] })],
      providers: [{ provide: WORKER_CONFIG, useValue: config }],
    };
  }
}
