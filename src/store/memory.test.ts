import { runStoreContract } from './contract.ts';
import { MemoryStore } from './memory.ts';

runStoreContract('memory', async () => new MemoryStore());
