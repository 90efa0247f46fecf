import { describe, expect, it } from 'vitest';
import { createMetrics, setExecutionProvider } from './registry.js';

describe('setExecutionProvider', () => {
  it('shows only the provider a role runs on now, after a reload moved it from CUDA to the CPU', async () => {
    const metrics = createMetrics('test');
    setExecutionProvider(metrics, 'classifier', 'cuda');
    setExecutionProvider(metrics, 'image-encoder', 'cuda');
    setExecutionProvider(metrics, 'classifier', 'cpu');
    const series = (await metrics.executionProvider.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    expect(series).toEqual(
      expect.arrayContaining([
        { role: 'classifier', provider: 'cpu', value: 1 },
        { role: 'image-encoder', provider: 'cuda', value: 1 },
      ]),
    );
    expect(series).toHaveLength(2);
  });
});
