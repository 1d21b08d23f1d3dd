{
  "targets": [
    {
      "target_name": "orchestrator_spawn",
      "sources": ["spawn.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      # A thread that waits for a child may outlive the worker that loaded this module: the
      # library must stay mapped (Node dlclose()s an addon when its environment ends).
      "ldflags": ["-Wl,-z,nodelete"],
      "conditions": [["OS!='linux'", { "type": "none", "sources!": ["spawn.c"] }]]
    }
  ]
}
