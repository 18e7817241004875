/** Topics and payloads published between roles. */
export interface Events {
  'storage_element.changed': { readonly seId: string };
  'file.changed': { readonly fileId: string };
  'account.changed': { readonly accountId: string };
}
export type Topic = keyof Events;

export interface EventBus {
  publish<T extends Topic>(topic: T, payload: Events[T]): Promise<void>;
  /** Returns a function that removes the subscription. */
  subscribe<T extends Topic>(topic: T, handler: (payload: Events[T]) => void): Promise<() => Promise<void>>;
}
