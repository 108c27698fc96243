import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { FakeKubeApi } from './fake-kube-api';

/** Writes a kubeconfig whose context `context` reaches the fake as the broker (its own bearer token). */
export function writeBrokerKubeconfig(path: string, fake: FakeKubeApi, context = 'leash-demo'): string {
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: { server: fake.url, 'certificate-authority-data': Buffer.from(fake.caPem).toString('base64') },
        },
      ],
      users: [{ name: 'leash-broker', user: { token: fake.brokerToken } }],
      contexts: [{ name: context, context: { cluster: 'fake', user: 'leash-broker' } }],
      'current-context': context,
    }),
    { mode: 0o600 },
  );
  return path;
}
