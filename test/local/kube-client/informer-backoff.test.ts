// The informer restart backoff the power manager runs with (INFORMER_BACKOFF through
// keepInformerRunning), as client-node tests its own ListWatch: the exact delay sequence with a
// manual clock, without waiting on any timer. The informer is the real one, its watches failing
// with 500 on the Kubernetes API stand-in; the clock only decides when each restart happens.
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepInformerRunning } from '../../../src/adapters/kube/client.js';
import { ListWatchInformer } from '../../../src/adapters/kube/informer.js';
import { loadConnection } from '../../../src/adapters/kube/kubeconfig.js';
import { KubeRest } from '../../../src/adapters/kube/rest.js';
import { slimPod } from '../../../src/adapters/kube/slim.js';
import { backoffDelay, INFORMER_BACKOFF } from '../../../src/power/controller/backoff.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { startTestStandin, waitFor, type TestStandin } from '../kube-standin/helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'masternode', roles: ['control-plane'], probe: false }] });
});
afterAll(async () => t?.stop());

describe('informer restart backoff', () => {
  it('doubles from 0.5 s to the 30 s cap while restarts keep failing, and starts over after two quiet minutes', async () => {
    const clock = new ManualClock(0);
    const inf = new ListWatchInformer<V1Pod>({ rest: new KubeRest(loadConnection({ kubeconfig: t.kubeconfig })), path: '/api/v1/namespaces/default/pods', slim: slimPod, watchTimeoutSeconds: () => 30 });
    const delays: number[] = [];
    const added: string[] = [];
    let stopped = false;
    inf.on('add', (p) => added.push(p.metadata?.name ?? ''));
    keepInformerRunning(inf, {
      delay: (retry) => backoffDelay(INFORMER_BACKOFF, retry),
      sleep: (ms) => clock.sleep(ms),
      now: () => clock.now(),
      isStopped: () => stopped,
      onError: (_err, _retry, delayMs) => delays.push(delayMs),
    });
    try {
      await inf.start();
      // Every restart resumes the watch (no re-list needed), and each of the next 9 watches gets a 500.
      t.standin.faults.add({ kind: 'error', status: 500, watch: true, path: '/pods', count: 9 });
      t.standin.faults.dropWatches('/pods');
      for (let i = 1; i <= 9; i++) {
        // Real I/O: the watch fails; the restart waits on the manual clock for exactly its delay.
        await waitFor(`failure ${i}`, () => Promise.resolve(delays.length === i && clock.pending() === 1));
        await clock.advance(delays[i - 1]!);
      }
      expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
      expect(clock.sleeps).toEqual(delays);

      // The tenth watch works: the informer follows the cluster again.
      t.standin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'after-the-failures', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
      await waitFor('the informer to see the new pod', () => Promise.resolve(added.includes('after-the-failures')));

      // A failure within two minutes of the last one keeps backing off...
      await clock.advance(60_000);
      t.standin.faults.add({ kind: 'error', status: 500, watch: true, path: '/pods', count: 1 });
      t.standin.faults.dropWatches('/pods');
      await waitFor('failure 10', () => Promise.resolve(delays.length === 10 && clock.pending() === 1));
      expect(delays[9]).toBe(30000);
      await clock.advance(30000);

      // ...one after two quiet minutes starts over at 0.5 s.
      await clock.advance(120_000);
      t.standin.faults.add({ kind: 'error', status: 500, watch: true, path: '/pods', count: 1 });
      t.standin.faults.dropWatches('/pods');
      await waitFor('failure 11', () => Promise.resolve(delays.length === 11 && clock.pending() === 1));
      expect(delays.slice(10)).toEqual([500]);
      await clock.advance(500);
    } finally {
      stopped = true;
      await inf.stop();
    }
  });
});
