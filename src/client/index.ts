export type * from './types.ts';
export { FakeInformer } from './fake-informer.ts';
