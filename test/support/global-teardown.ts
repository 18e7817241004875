export default async function globalTeardown(): Promise<void> {
  const stops = globalThis.__ARTSTORE_TEARDOWN__ ?? [];
  for (const stop of stops.reverse()) {
    await stop().catch((error: unknown) => console.error('teardown step failed', error));
  }
}
