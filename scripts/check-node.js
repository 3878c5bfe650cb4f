// npm scripts run on node_modules/.bin/node (the `node` devDependency). This guard
// fails loudly when that binary is missing (for example after `npm ci --ignore-scripts`)
// and a script falls back to an older system Node.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `This project needs Node 22.18 or newer; this script ran on Node ${process.versions.node}.\n` +
      'Run `npm install` (or `npm ci`) so the project-local Node in node_modules/.bin is installed.',
  );
  process.exit(1);
}
