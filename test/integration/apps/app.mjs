// An ES module application using one real client. argv[2] is a JSON spec:
// { client, target, keepAlive?, library? }. With `keepAlive`, the application sets the
// process-wide default in code (library: the ES module entry point); without it, only
// what the command line preloads applies.
import { useClient } from './clients.cjs';

const spec = JSON.parse(process.argv[2]);
if (spec.keepAlive) (await import(spec.library)).setDefaultKeepAlive(spec.keepAlive);
await useClient(spec, (name) => import(name));
