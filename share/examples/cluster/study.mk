# study.mk: run every trial of a study directory (prepare.sh) with make -j.
#
#   make -f share/examples/cluster/study.mk -j8 STUDY=dir [TRAIN_FLAGS=...]
#
# Each trial is a file target, STUDY/runs/N.done, made by run-trial.sh
# (which resumes an interrupted trial, counts a diverged one as a result and
# ingests the run into the tp-track store) and touched when it succeeded.
# So a second make does nothing, an interrupted one finishes what is
# missing, and `make -q' says whether the study is complete.
#
# LAUNCH prefixes each trial's command, to spread the jobs of one make over
# the nodes of a Slurm allocation, for instance:
#
#   salloc -N 4 --ntasks-per-node 8 \
#     make -f study.mk -j32 STUDY=dir LAUNCH='srun -N1 -n1 --exclusive'
#
# The tp tools must be on PATH.  TRAIN_FLAGS go to tp-train when a trial
# starts (e.g. TRAIN_FLAGS='--checkpoints 10').

HERE := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
STUDY ?=
TRAIN_FLAGS ?=
LAUNCH ?=

ifeq ($(STUDY),)
$(error usage: make -f study.mk [-j N] STUDY=dir [TRAIN_FLAGS=...] [LAUNCH=...])
endif
ifeq ($(wildcard $(STUDY)/trials.tpr),)
$(error $(STUDY)/trials.tpr: no such file (run prepare.sh first))
endif

# The trial stream decides how many runs there are.
NTRIALS := $(shell tp-cat -t trial -c $(STUDY)/trials.tpr)
ifeq ($(NTRIALS),)
$(error $(STUDY)/trials.tpr: cannot count its trials (is tp-cat on PATH?))
endif
DONE := $(patsubst %,$(STUDY)/runs/%.done,$(shell seq 0 $$(($(NTRIALS) - 1))))

.PHONY: all
.DELETE_ON_ERROR:

all: $(DONE)

$(STUDY)/runs/%.done: $(STUDY)/trials.tpr
	$(LAUNCH) sh $(HERE)/run-trial.sh $(STUDY) $* $(TRAIN_FLAGS)
	@touch $@
