// node-echo: node's net module echoing, as a Node programmer writes it.
// bench/run measures harbord against it.  usage: node node-echo.js PORT
'use strict';
const net = require('net');
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); })
    .listen(Number(process.argv[2]), '127.0.0.1');
