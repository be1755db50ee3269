// bit-ttt memory: how well a model's soul remembers (src/train/memory_eval.h, docs/memory.md).
#pragma once

int cmd_memory(int argc, char** argv);
