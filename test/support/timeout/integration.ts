// Per-tier test timeout (jest's testTimeout is global only).
jest.setTimeout(60000);
