// Portable queue turning pushed accepted connections into the async iterable Listener.accept() returns.

import type { Connection, Listener } from "./types.ts";

/**
 * Connections pushed by a listener callback, pulled by one `for await` loop.
 * Iteration ends once {@linkcode AcceptQueue.close} was called and the queue drained.
 */
export class AcceptQueue implements AsyncIterable<Connection> {
  #items: Connection[] = [];
  #waiter: ((result: IteratorResult<Connection>) => void) | undefined;
  #closed = false;

  /** Whether {@linkcode AcceptQueue.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Hands an accepted connection to the iterator; closes it when the queue is closed. */
  push(conn: Connection): void {
    if (this.#closed) {
      conn.close();
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: conn, done: false });
    } else {
      this.#items.push(conn);
    }
  }

  /** Ends the iteration once the queued connections were taken. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: undefined, done: true });
    }
  }

  /** Iterates the accepted connections. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return {
      next: (): Promise<IteratorResult<Connection>> => {
        const item = this.#items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<Connection>> => {
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * A {@linkcode Listener} over `queue`, for runtimes whose accept callback pushes into it:
 * `close()` ends the iteration once and calls `stop` to stop the runtime's listener
 * (without waiting for, or closing, the connections already accepted).
 */
export function queueListener(queue: AcceptQueue, stop: () => void): Listener {
  return {
    accept: () => queue,
    close(): Promise<void> {
      if (!queue.closed) {
        queue.close();
        stop();
      }
      return Promise.resolve();
    },
  };
}
