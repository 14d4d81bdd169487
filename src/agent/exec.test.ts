import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execStatus, frame, pickProtocol } from './exec.ts';

test('the client\'s first offered protocol that svcnet speaks wins', () => {
  assert.equal(pickProtocol(['v5.channel.k8s.io']), 'v5.channel.k8s.io');
  assert.equal(pickProtocol(['base64.channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io']), 'v4.channel.k8s.io');
  assert.equal(pickProtocol(['SPDY/3.1']), undefined);
});

test('exit statuses are the Status kubectl turns into "command terminated with exit code N"', () => {
  assert.deepEqual(execStatus(['true'], { exitCode: 0 }), { metadata: {}, status: 'Success' });
  assert.deepEqual(execStatus(['sh', '-c', 'exit 3'], { exitCode: 3 }), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  const err = execStatus(['x'], { exitCode: null, error: 'boom' });
  assert.equal(err.reason, 'InternalError');
  assert.equal(err.message, 'Internal error occurred: error executing command in container: boom');
});

test('frames carry the channel in their first byte', () => {
  assert.deepEqual([...frame(1, 'hi')], [1, 104, 105]);
});
