{
  "targets": [
    {
      "target_name": "orchestrator_spawn",
      "sources": ["spawn.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", { "type": "none", "sources!": ["spawn.c"] }]]
    }
  ]
}
