// `npm start`: the server on the embedded default. The HTTP gateway and CLI are being built (see README).
console.error("graviton serve is coming: the HTTP gateway and the CLI have not landed yet. `npm test` works today.")
process.exitCode = 1
