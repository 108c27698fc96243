import { Module, type DynamicModule } from '@nestjs/common';
import type { JsonLogger } from '@leash/core';
import { WORKER_CONFIG, type WorkerConfig } from '@leash/config';
import { BrokerModule } from '@leash/broker';

@Module({})
export class WorkerModule {
  static register(config: WorkerConfig, logger: JsonLogger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [BrokerModule.forRoot({ config, logger })],
      providers: [{ provide: WORKER_CONFIG, useValue: config }],
    };
  }
}
