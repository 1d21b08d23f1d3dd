/*
 * The orchestrator's process starter on Linux: spawn() starts a command as the leader of a new
 * session (as child_process.spawn with `detached: true` does), stdin on /dev/null and
 * stdout/stderr on socket pairs, and reports its exit on a notification socket.
 *
 * Why: child_process.spawn() fork()s, and fork() copies the page tables of the whole orchestrator
 * (and the child tears that copy down again at exec()), so every step costs more the more memory
 * the orchestrator holds: about 50 us a MB here, 1.9 ms a start at a bare Node's size and 4.9 ms
 * at 64 MB. posix_spawn() starts the child without copying anything (glibc and musl use
 * clone(CLONE_VM | CLONE_VFORK)): about 1 ms at any size.
 *
 * The child gets what child_process gives it: every signal at its default action and none
 * blocked, a new session and process group (pid = pgid, so the group can be killed), the working
 * directory, the environment, `file` looked up in the PATH of that environment as execvp() does
 * (a file without `#!` runs through /bin/sh), and, with glibc 2.34 or later, no descriptor above
 * 2. (One difference: glibc's two internal signals, 32 and 33, stay ignored until the program's
 * libc installs its handlers, which every libc does at start.) A small thread per child starts
 * it (posix_spawn suspends the calling thread until the child has exec'd: not JavaScript's),
 * reaps it (waitpid on that pid only, so libuv's own children are never touched), and writes both
 * to a socket that JavaScript reads (see run_job).
 *
 * Where posix_spawn_file_actions_addchdir_np is missing (glibc before 2.29), spawn is not
 * exported and the orchestrator uses child_process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* musl has had addchdir_np since 1.1.24 (2019) and defines no version macro. */
#if defined(__GLIBC__) && (__GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 29))
#define NO_ADDCHDIR 1
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_CLOSEFROM 1
#endif

/* What a spawning thread owns: its copies of the strings, the child's ends of the pipes, and its
   own copy of the notification socket. */
typedef struct {
  int32_t token;
  int notify;
  char *file;
  char **argv;
  char **envp;
  char *cwd;
  int child_out;
  int child_err;
} job_t;

enum { RECORD_STARTED = 1, RECORD_EXITED = 2 };

/* One record on the notification socket: four int32 (token, kind, a, b). */
static void send_record(int notify, int32_t token, int32_t kind, int32_t a, int32_t b) {
  int32_t record[4] = {token, kind, a, b};
  const char *bytes = (const char *)record;
  size_t left = sizeof(record);
  while (left > 0) {
    ssize_t sent = send(notify, bytes, left, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) break;
    bytes += sent;
    left -= (size_t)sent;
  }
}

static char *to_string(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static void free_list(char **list) {
  if (list == NULL) return;
  for (char **item = list; *item != NULL; item++) free(*item);
  free(list);
}

/* A NULL-terminated copy of an array of strings, or NULL (not an array, a non-string, no memory). */
static char **to_list(napi_env env, napi_value array) {
  uint32_t count = 0;
  if (napi_get_array_length(env, array, &count) != napi_ok) return NULL;
  char **list = calloc(count + 1, sizeof(char *));
  if (list == NULL) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    list[i] = to_string(env, item);
    if (list[i] == NULL) {
      free_list(list);
      return NULL;
    }
  }
  return list;
}

/* posix_spawn, and for a file that is not a program (ENOEXEC) /bin/sh with it, as execvp does. */
static int spawn_file(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                      const posix_spawnattr_t *attr, char **argv, char **envp) {
  int rc = posix_spawn(pid, path, actions, attr, argv, envp);
  if (rc != ENOEXEC) return rc;
  size_t count = 0;
  while (argv[count] != NULL) count++;
  char **shell_argv = calloc(count + 2, sizeof(char *));
  if (shell_argv == NULL) return ENOMEM;
  shell_argv[0] = "/bin/sh";
  shell_argv[1] = (char *)path;
  for (size_t i = 1; i < count; i++) shell_argv[i + 1] = argv[i];
  rc = posix_spawn(pid, "/bin/sh", actions, attr, shell_argv, envp);
  free(shell_argv);
  return rc;
}

/* `file` started, looked up like execvp() in the PATH of `envp` when it has no slash. */
static int spawn_in_path(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                         const posix_spawnattr_t *attr, char **argv, char **envp) {
  if (strchr(file, '/') != NULL) return spawn_file(pid, file, actions, attr, argv, envp);
  size_t file_length = strlen(file);
  if (file_length > NAME_MAX) return ENAMETOOLONG;
  const char *search = NULL;
  for (char **entry = envp; *entry != NULL; entry++) {
    if (strncmp(*entry, "PATH=", 5) == 0) search = *entry + 5;
  }
  if (search == NULL) search = "/usr/bin:/bin";
  int denied = 0;
  for (const char *dir = search;;) {
    const char *end = strchr(dir, ':');
    size_t dir_length = end == NULL ? strlen(dir) : (size_t)(end - dir);
    char candidate[PATH_MAX];
    if (dir_length + 1 + file_length + 1 <= sizeof(candidate)) {
      /* An empty entry is the working directory, as for execvp(). */
      if (dir_length == 0) {
        memcpy(candidate, "./", 2);
        memcpy(candidate + 2, file, file_length + 1);
      } else {
        memcpy(candidate, dir, dir_length);
        candidate[dir_length] = '/';
        memcpy(candidate + dir_length + 1, file, file_length + 1);
      }
      int rc = spawn_file(pid, candidate, actions, attr, argv, envp);
      if (rc == 0) return 0;
      if (rc == EACCES) denied = 1;
      else if (rc != ENOENT && rc != ENOTDIR && rc != ENAMETOOLONG) return rc;
    }
    if (end == NULL) break;
    dir = end + 1;
  }
  return denied ? EACCES : ENOENT;
}

static napi_value throw_errno(napi_env env, int code) {
  napi_value message, error, number;
  napi_create_string_utf8(env, strerror(code), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, code, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

static napi_value int_pair(napi_env env, int a, int b) {
  napi_value result, value;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, a, &value);
  napi_set_element(env, result, 0, value);
  napi_create_int32(env, b, &value);
  napi_set_element(env, result, 1, value);
  return result;
}

static void close_descriptor(void *fd) {
  close((int)(intptr_t)fd);
}

/*
 * notifier() -> [readFd, writeFd]: a socket pair for start and exit records (see run_job). The
 * JavaScript side reads the first and passes the second to every spawn(), which gives each
 * waiting thread its own copy; the second is closed when this Node environment ends.
 */
static napi_value Notifier(napi_env env, napi_callback_info info) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return throw_errno(env, errno);
  napi_add_env_cleanup_hook(env, close_descriptor, (void *)(intptr_t)pair[1]);
  return int_pair(env, pair[0], pair[1]);
}

#ifndef NO_ADDCHDIR
static void free_job(job_t *job) {
  free(job->file);
  free(job->cwd);
  free_list(job->argv);
  free_list(job->envp);
  free(job);
}

/*
 * A spawning thread: starts the child (posix_spawn suspends this thread, not JavaScript's, until
 * the child has exec'd), reports it started (pid) or could not (-errno), then waits for it and
 * reports its end (exit code or -1, signal number or 0), and closes its copy of the socket.
 * Nothing here touches Node-API: the JavaScript side (and its environment, in a worker that ends)
 * may be gone by then, and a closed reader only makes the send fail. The library stays loaded
 * for this thread (`-z nodelete`, binding.gyp).
 */
static void *run_job(void *arg) {
  job_t *job = arg;
  int rc = 0;
  /* A working directory that cannot be entered fails as it does for child_process (ENOENT,
     ENOTDIR), not as a program missing from every PATH entry. */
  struct stat info;
  if (job->cwd[0] != '\0') {
    if (stat(job->cwd, &info) != 0) rc = errno;
    else if (!S_ISDIR(info.st_mode)) rc = ENOTDIR;
  }
  pid_t pid = 0;
  if (rc == 0) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, job->child_out, 1);
    posix_spawn_file_actions_adddup2(&actions, job->child_err, 2);
#ifdef HAVE_CLOSEFROM
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    if (job->cwd[0] != '\0') posix_spawn_file_actions_addchdir_np(&actions, job->cwd);
    sigset_t defaults, none;
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    rc = spawn_in_path(&pid, job->file, &actions, &attr, job->argv, job->envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  /* Only the child holds these now: its output ends when it (and what it started) is done. */
  close(job->child_out);
  close(job->child_err);
  int notify = job->notify;
  int32_t token = job->token;
  free_job(job);
  if (rc != 0) {
    send_record(notify, token, RECORD_STARTED, -rc, 0);
    close(notify);
    return NULL;
  }
  send_record(notify, token, RECORD_STARTED, pid, 0);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  send_record(notify, token, RECORD_EXITED, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  close(notify);
  return NULL;
}

/*
 * spawn(file, argv, envp, cwd, notifyFd, token) -> [stdoutFd, stderrFd]: a thread starts the
 * child and reports on notifyFd, in records that start with `token`: started (pid, or -errno when
 * it could not start), then exited. Throws an Error with `errno` only when the thread cannot be
 * had (no memory, no descriptors, no threads).
 */
static napi_value Spawn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 6) return throw_errno(env, EINVAL);
  int32_t notify = -1, token = 0;
  napi_get_value_int32(env, args[4], &notify);
  napi_get_value_int32(env, args[5], &token);
  job_t *job = calloc(1, sizeof(job_t));
  if (job == NULL) return throw_errno(env, ENOMEM);
  job->token = token;
  job->notify = -1;
  job->child_out = -1;
  job->child_err = -1;
  job->file = to_string(env, args[0]);
  job->argv = to_list(env, args[1]);
  job->envp = to_list(env, args[2]);
  job->cwd = to_string(env, args[3]);
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  int rc = 0;
  if (job->file == NULL || job->argv == NULL || job->envp == NULL || job->cwd == NULL || notify < 0) rc = EINVAL;
  if (rc == 0 && (job->notify = fcntl(notify, F_DUPFD_CLOEXEC, 3)) < 0) rc = errno;
  if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0) rc = errno;
  if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) != 0) rc = errno;
  if (rc == 0) {
    job->child_out = out[1];
    job->child_err = err[1];
    pthread_attr_t thread_attr;
    pthread_attr_init(&thread_attr);
    pthread_attr_setstacksize(&thread_attr, 64 * 1024);
    pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    rc = pthread_create(&thread, &thread_attr, run_job, job);
    pthread_attr_destroy(&thread_attr);
  }
  if (rc != 0) {
    for (int i = 0; i < 2; i++) {
      if (out[i] >= 0) close(out[i]);
      if (err[i] >= 0) close(err[i]);
    }
    if (job->notify >= 0) close(job->notify);
    free_job(job);
    return throw_errno(env, rc);
  }
  return int_pair(env, out[0], err[0]);
}
#endif

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "notifier", NAPI_AUTO_LENGTH, Notifier, NULL, &fn);
  napi_set_named_property(env, exports, "notifier", fn);
#ifndef NO_ADDCHDIR
  napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, Spawn, NULL, &fn);
  napi_set_named_property(env, exports, "spawn", fn);
#endif
  return exports;
}
