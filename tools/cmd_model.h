// bit-ttt subcommands about model files: info, convert, forward.
#pragma once

int cmd_info(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_forward(int argc, char** argv);
