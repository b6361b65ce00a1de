import fs from 'node:fs';
import path from 'node:path';
import { root } from './tree.js';

/** A self-signed certificate for the name "localhost", shared by every TLS test. */
export const certificatePath = path.join(root, 'test', 'fixtures', 'localhost-cert.pem');

/** Its private key. */
export const keyPath = path.join(root, 'test', 'fixtures', 'localhost-key.pem');

/** Key and certificate, as `tls.createServer` takes them. */
export const localhostTls = { key: fs.readFileSync(keyPath), cert: fs.readFileSync(certificatePath) };
