// `bit-ttt vocab` (train a byte-level BPE tokenizer) and `bit-ttt tokenize` (show how a text is tokenized).
// argv[0] is the subcommand name. Both return 0 on success; errors go to stderr and return 1.
#pragma once

int cmd_vocab(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
