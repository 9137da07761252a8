// A kubelet thread module that crashes (an uncaught exception) 300 ms after it starts:
// for the test that a NodeHost marks its Node NotReady when the thread dies on its own.
import { serveKubelet } from '../../dist/src/cluster/kubelet/kubelet.js';
import { nodePlatform } from '../../dist/src/platform/node/index.js';

export function main(port) {
  serveKubelet(port, { platform: nodePlatform });
  setTimeout(() => {
    throw new Error('kubelet crashed');
  }, 300);
}
