/**
 * A store for local mode with a capacity meter in front: dynalite on a LevelDB folder in a process
 * of its own (as local mode runs it), behind a CapacityProxy. Give local mode
 * `PULLWATCH_DYNAMODB_ENDPOINT=<endpoint>` and read the meter's figures afterwards.
 */
import { startServer } from '../../local/store';
import { CapacityProxy } from './capacity-proxy';

export interface MeteredStore {
  /** The meter's endpoint: where local mode keeps its table. */
  endpoint: string;
  meter: CapacityProxy;
  stop(): Promise<void>;
}

export const startMeteredStore = async (folder: string): Promise<MeteredStore> => {
  const server = await startServer(folder);
  const meter = await new CapacityProxy(server.endpoint).start();
  return {
    endpoint: meter.endpoint,
    meter,
    stop: async () => {
      await meter.stop();
      await server.close();
    },
  };
};
