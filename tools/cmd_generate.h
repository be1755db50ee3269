// bit-ttt subcommands that talk: generate (one prompt, streamed) and chat (interactive, with memories and sleep).
#pragma once

int cmd_generate(int argc, char** argv);
int cmd_chat(int argc, char** argv);
