#!/usr/bin/env node
// Run web-push-testing's server module on 127.0.0.1 in the foreground.
// Usage: node serve.js [port]   (or WPT_PORT=...; 0 = pick a free port)
// Prints "web-push-testing ready on 127.0.0.1:<port>" once listening.
'use strict';

// The package's "main" points at a file that does not exist, so load src/ directly.
const TestingServer = require('web-push-testing/src/server.js');
const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');

const HOST = '127.0.0.1';
const port = Number.parseInt(process.argv[2] ?? process.env.WPT_PORT ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
	console.error('serve.js: invalid port ' + (process.argv[2] ?? process.env.WPT_PORT));
	process.exit(2);
}

const model = new PushApiModel();
const server = new TestingServer(model, port);
// startServer() would listen on every interface, so wire the routes and listen ourselves.
server.setRequestHandlers();
const listener = server._app.listen(port, HOST, () => {
	const actual = listener.address().port;
	// The constructor hard-codes "localhost", which may resolve to ::1 where nothing listens.
	model.notifyUrl = `http://${HOST}:${actual}/notify/`;
	console.log(`web-push-testing ready on ${HOST}:${actual}`);
});
listener.on('error', err => {
	console.error('serve.js: ' + err.message);
	process.exit(1);
});

// State is in memory only, so exit at once on a signal (close() would wait on keep-alive sockets).
for (const sig of ['SIGTERM', 'SIGINT']) {
	process.on(sig, () => process.exit(0));
}

// Opt-in: exit when the parent closes our stdin, so a killed test run leaves no orphan.
if (process.env.WPT_EXIT_ON_STDIN_EOF === '1') {
	process.stdin.on('end', () => process.exit(0));
	process.stdin.resume();
}
