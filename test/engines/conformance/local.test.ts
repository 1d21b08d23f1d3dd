import { LocalEngine } from '../../../src/engines/local/local-engine.js';
import { defineConformance } from './conformance.js';

defineConformance('local', () => {
  const engine = new LocalEngine();
  return Promise.resolve({ engine, teardown: () => engine.close() });
});
