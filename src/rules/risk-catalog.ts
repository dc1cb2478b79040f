/**
 * Programs an elevation rule must not allow lightly (pure data, no I/O): those that can
 * start a shell or run any command, those that can write any file, and those that load
 * code or configuration from the folder they are started in (the user's folder).
 *
 * Each entry says when a rule allowing it is still risky:
 * - `unpinned`: unless the rule pins the whole command line (an args pattern without `*`
 *   or `?`; "" for no arguments). A wildcard in the arguments can carry `-exec`, `-e`,
 *   `--to-command=`, `--checkpoint-action=`, `-o ProxyCommand=` ...
 * - `bare`: like `unpinned`, and no arguments at all is risky too: without arguments the
 *   program is an interactive shell or reads its program from stdin (sh, python, su ...).
 * - `always`: whatever the arguments: the program has an interactive escape (a pager's or
 *   editor's `!sh`, a file dialog) or loads code from the working folder (make, npm, git).
 *
 * Names are lower case, without `.exe`; `riskyProgram()` finds an entry for a file name
 * such as `PowerShell.EXE`, `python3.11`, `perl5.36` or `vim.basic`.
 */

export const RISK_KINDS = ['shell', 'write-any-file', 'reads-working-folder'] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export type RiskWhen = 'unpinned' | 'bare' | 'always';

export interface RiskyProgram {
  /** File names, lower case, without `.exe` / `.com`. */
  readonly names: readonly string[];
  readonly kinds: readonly RiskKind[];
  readonly when: RiskWhen;
  /** Why, in a few words (shown in findings). */
  readonly reason: string;
  /**
   * The program also takes numeric ids (uids, gids, SIDs) where a name is expected, so a
   * deny pattern naming a user or group has spellings it does not match (`-G 27` for sudo).
   */
  readonly takesIds?: boolean;
  /**
   * Words that make a command line risky even when the rule pins it (issue 19): they open an
   * editor or a pager (whose `!` starts a shell) or install a package file: `systemctl edit
   * x`, `systemctl status x`, `crontab -e`, `apt changelog x`, `dpkg -i x.deb`.
   */
  readonly escapes?: readonly string[];
}

const S: RiskKind = 'shell';
const W: RiskKind = 'write-any-file';
const F: RiskKind = 'reads-working-folder';

const entry = (names: string, kinds: RiskKind[], when: RiskWhen, reason: string, takesIds = false, escapes?: string): RiskyProgram => ({
  names: names.split(' '),
  kinds,
  when,
  reason,
  ...(takesIds ? { takesIds } : {}),
  ...(escapes !== undefined ? { escapes: escapes.split(' ') } : {}),
});

export const RISKY_PROGRAMS: readonly RiskyProgram[] = [
  // Shells and interpreters: without arguments they read commands from the terminal or stdin.
  entry('sh bash dash zsh ksh ksh93 mksh pdksh csh tcsh fish ash rbash yash elvish nu xonsh', [S], 'bare', 'is a shell'),
  entry('python pythonw python2 python3 pypy pypy3 ipython bpython', [S, W], 'bare', 'is an interpreter (python -c, or a script from the working folder)'),
  entry('perl ruby irb jruby node nodejs deno bun lua luajit tclsh wish php php-cgi julia rscript guile osascript', [S, W], 'bare', 'is an interpreter (-e/-c code, or a script from the working folder)'),
  entry('expect gdb lldb sqlite3 jshell java psql mysql mariadb', [S, W], 'bare', 'runs commands from its prompt or loads code (gdb shell, sqlite3 .shell, psql \\!, java classes of the working folder)'),
  entry('su ksu login', [S], 'bare', 'starts a shell as another user'),
  entry('script tmux screen byobu', [S], 'bare', 'starts a shell'),
  entry('cmd command', [S], 'bare', 'is the Windows shell (cmd /c)'),
  entry('powershell powershell_ise pwsh', [S, W], 'bare', 'is PowerShell (-Command, -EncodedCommand)'),
  // Programs that run another program given on their command line.
  entry('env nice ionice timeout nohup setsid flock stdbuf taskset chrt time watch xargs unbuffer parallel', [S], 'unpinned', 'runs the command given in its arguments'),
  entry('sudo doas pkexec runuser run0', [S], 'unpinned', 'runs commands as another user (sudo -s, sudo -u \'#0\')', true),
  entry('chroot setpriv unshare nsenter capsh firejail bwrap systemd-run start-stop-daemon', [S], 'unpinned', 'runs the command given in its arguments', true),
  entry('strace ltrace valgrind perf', [S], 'unpinned', 'runs (and can attach to) the program given in its arguments'),
  entry('busybox toybox', [S, W], 'unpinned', 'is every applet at once (busybox sh)'),
  entry('find', [S, W], 'unpinned', 'runs commands (-exec, -execdir, -ok) and writes files (-fprintf)', true),
  entry('awk gawk mawk nawk', [S, W], 'unpinned', 'runs commands (system(), | getline) and writes files'),
  entry('sed gsed', [S, W], 'unpinned', 'writes any file (-i, w) and GNU sed runs commands (e)'),
  entry('tar gtar bsdtar', [S, W], 'unpinned', 'runs commands (--to-command, --checkpoint-action, -I) and writes any file'),
  entry('zip', [S, W], 'unpinned', 'runs commands (-TT) and writes files'),
  entry('rsync', [S, W], 'unpinned', 'runs commands (-e) and writes any file'),
  entry('ssh scp sftp', [S, W], 'unpinned', 'runs commands (ProxyCommand, LocalCommand, -S) and writes files'),
  entry('docker podman nerdctl ctr lxc', [S, W], 'unpinned', 'runs containers that mount / (docker run -v /:/host)'),
  entry('crontab', [S], 'unpinned', 'schedules any command (crontab -e opens an editor)', false, '-e'),
  entry('at batch', [S], 'unpinned', 'schedules any command'),
  entry('systemctl', [S], 'unpinned', 'can run services and show a pager (less), whose ! starts a shell (systemctl status, edit opens an editor)', false, 'edit status show cat help list-units list-unit-files list-timers list-dependencies list-jobs list-sockets'),
  entry('journalctl', [S], 'unpinned', 'can run services and show a pager (less), whose ! starts a shell'),
  entry('ftp tftp telnet', [S], 'unpinned', 'has a ! shell escape'),
  entry('mount umount', [W], 'unpinned', 'mounts over any folder (mount --bind)'),
  entry('apt apt-get aptitude dpkg rpm yum dnf zypper pacman snap flatpak apk', [S, W], 'unpinned', 'installs packages whose scripts run with its rights (dpkg -i, apt-get -o APT::Update::Pre-Invoke::=sh)', false, 'changelog -i --install --unpack localinstall edit-sources'),
  entry('ip', [S], 'unpinned', 'runs the command given in its arguments (ip netns exec)'),
  entry('socat nc ncat netcat', [S], 'unpinned', 'runs commands (socat EXEC:, nc -e)'),
  entry('openssl', [S, W], 'unpinned', 'writes any file (-out) and loads code (-engine)'),
  entry('tcpdump', [S, W], 'unpinned', 'runs a command on its files (-z) and writes any file (-w)'),
  entry('gcc cc c++ g++ clang clang++', [S, W], 'unpinned', 'runs helper programs (-wrapper) and writes any file (-o)'),
  entry('modprobe insmod kmod sysctl', [S], 'unpinned', 'loads kernel code or sets a command the kernel runs as root (kernel.core_pattern)'),
  entry('run-parts', [S], 'unpinned', 'runs every program of the folder it is given'),
  entry('logrotate', [S, W], 'unpinned', 'runs the scripts of the configuration file it is given (postrotate) and writes the files it names'),
  entry('iptables ip6tables iptables-restore ip6tables-restore xtables-nft-multi xtables-legacy-multi', [S], 'unpinned', 'runs the program given to --modprobe'),
  entry('nft', [S, W], 'unpinned', 'reads rules from any file (-f) and can write them out'),
  entry('ssh-keygen', [S, W], 'unpinned', 'loads a library it is given (-D, PKCS#11) and writes key files anywhere'),
  entry('systemd-tmpfiles', [W], 'unpinned', 'creates, changes the owner of and removes files as its configuration (or --root, a file given) says'),
  entry('sort split', [S, W], 'unpinned', 'writes any file (sort -o) and runs commands (--compress-program, split --filter)'),
  // Pagers and editors: an interactive escape whatever the arguments.
  entry('less more most pg man info', [S], 'always', 'is a pager: ! runs a shell command, and it can open and save files'),
  entry('vi vim view vimdiff rvim nvim ex gvim evim', [S, W], 'always', 'is an editor: :!sh runs a shell, :w writes any file'),
  entry('nano pico emacs jed joe mcedit ed red micro mc', [S, W], 'always', 'is an editor: it writes any file and can run commands'),
  entry('visudo vipw vigr sudoedit', [S, W], 'always', 'starts an editor ($EDITOR) on a system file'),
  entry('editor sensible-editor select-editor', [S, W], 'always', 'is the system editor (nano, vim): it writes any file and can run commands'),
  entry('pager sensible-pager', [S], 'always', 'is the system pager (less): ! runs a shell command'),
  entry('newgrp sg', [S], 'always', 'starts a shell (or the command given) in another group: newgrp sudo'),
  entry('xterm x-terminal-emulator gnome-terminal konsole xfce4-terminal lxterminal mate-terminal terminator tilix kitty alacritty urxvt rxvt', [S], 'always', 'is a terminal emulator: it starts a shell'),
  entry('mail mailx', [S], 'always', 'has a ~! shell escape'),
  entry('notepad wordpad regedit regedt32', [S, W], 'always', 'writes any file, and its file dialogs start programs'),
  entry('explorer taskmgr mmc', [S], 'always', 'starts any program (File > Run new task, file dialogs)'),
  // Windows programs that run or load other code.
  entry('wscript cscript mshta rundll32 regsvr32 msiexec installutil regasm regsvcs msxsl wmic forfiles pcalua schtasks psexec psexec64 runas at', [S], 'unpinned', 'runs scripts, DLLs or commands given in its arguments'),
  entry('sc', [S], 'unpinned', 'creates services that run any command (sc create binPath=)'),
  entry('certutil bitsadmin', [W], 'unpinned', 'downloads and decodes to any file'),
  entry('icacls cacls takeown', [W], 'unpinned', 'grants access to any file', true),
  entry('reg', [W], 'unpinned', 'writes any registry key'),
  entry('xcopy robocopy copy move', [W], 'unpinned', 'copies over any file'),
  // Programs that write any file.
  entry('cp mv dd tee install ln truncate rm shred patch cpio unzip 7z 7za 7zr curl wget', [W], 'unpinned', 'writes or replaces any file'),
  entry('chmod chown chgrp chattr setfacl', [W], 'unpinned', 'changes the owner or mode of any file (chmod u+s, chown)', true),
  entry('usermod useradd groupmod groupadd gpasswd adduser addgroup', [W], 'unpinned', 'changes accounts and group memberships (the sudo group)', true),
  entry('passwd chpasswd chsh chfn chage', [W], 'unpinned', "changes accounts' passwords and login shells (passwd root)"),
  // Programs that load code or configuration from the folder they start in.
  entry('make gmake bmake cmake ninja meson scons bazel', [S, F], 'always', 'reads the Makefile (build files) of the working folder and runs its commands'),
  entry('npm npx yarn pnpm corepack', [S, F], 'always', 'runs the scripts of package.json in the working folder'),
  entry('cargo go rustup', [S, F], 'always', 'builds and runs the code of the working folder (build.rs, go generate, toolchain files)'),
  entry('mvn mvnw gradle gradlew ant sbt lein', [S, F], 'always', 'runs the build file of the working folder'),
  entry('pip pip2 pip3 pipx pipenv poetry tox nox pytest hatch pdm uv', [S, F], 'always', 'runs setup.py / project files of the working folder'),
  entry('bundle bundler rake gem', [S, F], 'always', 'runs the Gemfile / Rakefile of the working folder'),
  entry('composer', [S, F], 'always', 'runs the scripts of composer.json in the working folder'),
  entry('dotnet msbuild nuget devenv', [S, F], 'always', 'builds and runs the project of the working folder'),
  entry('mix rebar3 stack cabal dune opam', [S, F], 'always', 'runs the project file of the working folder'),
  entry('hg svn', [S, F], 'always', 'reads the repository configuration of the working folder (.hg/hgrc hooks) and runs what it says'),
  entry('git', [S, W, F], 'always', 'reads .git/config of the working folder (core.pager, core.fsmonitor, hooks run commands) and opens a pager'),
  entry('ansible ansible-playbook terraform vagrant docker-compose helm', [S, F], 'always', 'reads its configuration (ansible.cfg, *.tf, Vagrantfile, compose file) from the working folder and runs what it says'),
];

/** Executable extensions dropped before lookup (Windows names). */
const EXTENSIONS = ['.exe', '.com'];
/** Debian alternative suffixes: vim.basic, vim.tiny, awk.real ... */
const ALT_SUFFIX = /\.(basic|tiny|nox|gtk|gtk3|athena|motif|real|distrib|orig|static|bin|original|default)$/;
/** Version suffixes: python3.11, perl5.36, lua5.4, gcc-12, node18, php8.2. */
const VERSION = /[-_.]?\d+(?:[._-]\d+)*[a-z]?$/;

const BY_NAME: ReadonlyMap<string, RiskyProgram> = (() => {
  const m = new Map<string, RiskyProgram>();
  for (const p of RISKY_PROGRAMS) for (const n of p.names) if (!m.has(n)) m.set(n, p);
  return m;
})();

/** Every catalogued name (lower case), for matching wildcard patterns against. */
export const RISKY_NAMES: readonly string[] = [...BY_NAME.keys()];

/** The names a file name is looked up by: itself, without `.exe`, an alternative suffix or a version. */
export function baseNames(fileName: string): string[] {
  let n = fileName.toLowerCase();
  const out = [n];
  for (const ext of EXTENSIONS) if (n.endsWith(ext) && n.length > ext.length) n = n.slice(0, -ext.length);
  out.push(n);
  for (let i = 0; i < 2; i++) {
    const alt = n.replace(ALT_SUFFIX, '');
    if (alt !== n && alt.length > 0) out.push((n = alt));
    const ver = n.replace(VERSION, '');
    if (ver !== n && ver.length > 0) out.push((n = ver));
  }
  return [...new Set(out)];
}

/** The catalogue entry for a program's file name (`perl5.36`, `PowerShell.exe`), or undefined. */
export function riskyProgram(fileName: string): { name: string; program: RiskyProgram } | undefined {
  for (const n of baseNames(fileName)) {
    const program = BY_NAME.get(n);
    if (program) return { name: n, program };
  }
  return undefined;
}

/**
 * File names a catalogued program may carry, for testing a wildcard pattern against:
 * the name, with `.exe`, and with typical version suffixes.
 */
export function nameVariants(name: string): string[] {
  return [name, `${name}.exe`, `${name}3`, `${name}3.11`, `${name}5.36`, `${name}-12`, `${name}.basic`];
}
