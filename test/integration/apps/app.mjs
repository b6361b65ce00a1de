// An ES module application using real clients. argv[2] is a JSON spec:
// { clients: [{ name, client, target }], keepAlive?, library? }. With `keepAlive`, the application sets the
// process-wide default in code (library: the ES module entry point); without it, only
// what the command line preloads applies.
import { useClients } from './clients.cjs';

const spec = JSON.parse(process.argv[2]);
if (spec.keepAlive) (await import(spec.library)).setDefaultKeepAlive(spec.keepAlive);
await useClients(spec, (name) => import(name));
