import { MemoryStorage } from '../src/index.js';
import { describeStorage } from './storage-contract.js';

describeStorage('MemoryStorage', () => new MemoryStorage());
