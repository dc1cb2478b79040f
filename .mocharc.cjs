// mocha adds the config's spec to the files named on the command line; name files to run only those.
const named = process.argv.slice(2).some((a) => /\.test\.ts$/.test(a));
module.exports = {
  'node-option': ['import=tsx'],
  require: ['test/support/samba-dc.ts', 'test/support/postgres.ts'],
  spec: named ? [] : ['test/**/*.test.ts'],
  extension: ['ts'],
  timeout: 60000,
  reporter: 'spec',
};
