// bit-ttt subcommands of the training pipeline: data (text -> train.u32/val.u32), train, eval.
#pragma once

int cmd_data(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
