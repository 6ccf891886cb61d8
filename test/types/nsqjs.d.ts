// Minimal typings for the parts of nsqjs (npm) the compatibility tests and benchmarks use.
declare module 'nsqjs' {
  import { EventEmitter } from 'node:events'
  export interface Message extends EventEmitter {
    id: string
    attempts: number
    timestamp: unknown
    body: Buffer
    json (): unknown
    finish (): void
    requeue (delay?: number, backoff?: boolean): void
    touch (): void
    timeUntilTimeout (): number | null
  }
  export class Reader extends EventEmitter {
    constructor (topic: string, channel: string, options?: Record<string, unknown>)
    connect (): void
    close (): void
    pause (): void
    unpause (): void
  }
  export class Writer extends EventEmitter {
    constructor (host: string, port: number, options?: Record<string, unknown>)
    connect (): void
    close (): void
    publish (topic: string, msgs: string | Buffer | object | Array<string | Buffer | object>, callback?: (err?: Error) => void): void
    deferPublish (topic: string, msgs: string | Buffer | object | Array<string | Buffer | object>, timeMs: number, callback?: (err?: Error) => void): void
  }
  const nsq: { Reader: typeof Reader, Writer: typeof Writer }
  export default nsq
}
