// parcnet: one import for the whole framework.
export * from '@parcnet/tensor';
export * from '@parcnet/autograd';
