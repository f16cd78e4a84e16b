# One round of the playbook's incremental tuning, as a Makefile.
#
#   make -f share/examples/demo.mk -j2 [OUT=demo-out] [TRIALS=20] [STEPS=1500]
#
# Copy it and edit the variables and the space file to run your own study.
# Every step is a file target, so a second make does only what is missing,
# and an interrupted one picks up where it stopped (a half-trained run
# resumes from its latest checkpoint).
#
#  1. pack the data and split it (seeded, stratified)
#  2. tp-overfit-batch: can the model and pipeline overfit one batch?
#  3. tp-sample the studies: one per scientific value, quasi-random trials
#  4. train every trial (make -j runs them in parallel), evaluating and
#     checkpointing periodically
#  5. tp-ckpt-select the best checkpoint of each study; tp-eval it on test
#  6. tp-track: the table, the comparison, curves, axis plots and check
#  7. the summary

TOP    ?= $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))))
BIN    ?=
OUT    ?= demo-out
DATA   ?= $(TOP)/share/data/digits.csv.gz
SPACE  ?= $(TOP)/share/examples/optimizer-comparison.space
TRIALS ?= 20
STEPS  ?= 1500
SEED   ?= 1
CHECKPOINTS ?= 15
THREADS ?= 1

tp = $(if $(BIN),$(BIN)/)
TRAIN = $(OUT)/data/digits-train.zst
VALID = $(OUT)/data/digits-valid.zst
TEST  = $(OUT)/data/digits-test.zst
TRACK = $(OUT)/track

# The trial stream decides how many runs there are.
NRUNS := $(shell $(tp)tp-sample -n $(TRIALS) -s $(SEED) -f tsv $(SPACE) 2>/dev/null | tail -n +2 | wc -l)
RUNS  := $(addprefix $(OUT)/runs/,$(shell seq 0 $$(($(NRUNS) - 1))))

.PHONY: all clean
.DELETE_ON_ERROR:

all: $(OUT)/summary.txt
	@cat $(OUT)/summary.txt

# 1. Data: scaled to [0, 1] with min-max, split 60/20/20 by class.
$(OUT)/data/digits.zst: $(DATA)
	@mkdir -p $(@D)
	$(tp)tp-data pack --scale minmax -o $@ $<
$(TRAIN) $(VALID) $(TEST) &: $(OUT)/data/digits.zst
	$(tp)tp-data split -f 0.6,0.2,0.2 -s $(SEED) -o $(OUT)/data/digits $<

# 2. The sanity check before a long study (the design patterns' "useful
#    overfitting"): exit 1 stops make here.
$(OUT)/overfit.txt: $(TRAIN)
	$(tp)tp-overfit-batch --threads $(THREADS) --depth 2 --width 256 --lr 1e-3 \
		-n 64 $(TRAIN) >$@.tmp && mv $@.tmp $@

# 3. The trials: scientific x nuisance, quasi-random (scrambled Sobol).
$(OUT)/trials.tpr: $(SPACE) $(OUT)/overfit.txt
	$(tp)tp-sample -n $(TRIALS) -s $(SEED) -o $@ $(SPACE)
$(OUT)/trials.tsv: $(OUT)/trials.tpr $(SPACE)
	$(tp)tp-sample -n $(TRIALS) -s $(SEED) -f tsv -o $@ $(SPACE)

# 4. One run per trial.  model.tpm is written last, so its presence means
#    the run is complete; a run directory without it resumes.
$(OUT)/runs/%/model.tpm: $(OUT)/trials.tpr $(TRAIN) $(VALID)
	@if [ -f $(OUT)/runs/$*/config.tpr ]; then \
		echo "tp-train -d $(OUT)/runs/$* --resume"; \
		$(tp)tp-train -q -d $(OUT)/runs/$* --resume --threads $(THREADS); \
	else \
		echo "tp-train -d $(OUT)/runs/$* --trial $(OUT)/trials.tpr --trial-index $*"; \
		$(tp)tp-train -q -d $(OUT)/runs/$* --trial $(OUT)/trials.tpr --trial-index $* \
			--steps $(STEPS) --eval-every 100 --checkpoints $(CHECKPOINTS) \
			--keep-best 2 --keep-latest 1 --train-eval-size 512 --threads $(THREADS) \
			--valid $(VALID) $(TRAIN); \
	fi; rc=$$?; [ $$rc = 0 ] || [ $$rc = 4 ] # a diverged trial is a result

# 5. The best checkpoint of each study, chosen retrospectively on the
#    validation error, then evaluated once on the test split.
$(OUT)/best.tsv: $(addsuffix /model.tpm,$(RUNS)) $(OUT)/trials.tsv
	@: >$@.tmp
	@for s in $$(tail -n +2 $(OUT)/trials.tsv | cut -f1 | sort -u); do \
		runs=$$(tail -n +2 $(OUT)/trials.tsv | awk -F'\t' -v s="$$s" -v o=$(OUT) \
			'$$1 == s { print o "/runs/" NR - 1 }'); \
		best=$$($(tp)tp-ckpt-select -q $$runs) || exit 1; \
		printf '%s\t%s\n' "$$s" "$$best" >>$@.tmp; \
	done; mv $@.tmp $@
$(OUT)/test.tpr: $(OUT)/best.tsv $(TEST)
	$(tp)tp-eval -q -d $(TEST) --split test -o $@ $$(cut -f2 $(OUT)/best.tsv)

# 6. The study spreadsheet and its plots.
$(TRACK)/.ingested: $(addsuffix /model.tpm,$(RUNS)) $(OUT)/test.tpr
	$(tp)tp-track -d $(TRACK) init
	for s in $$(tail -n +2 $(OUT)/trials.tsv | cut -f1 | sort -u); do \
		$(tp)tp-track -d $(TRACK) study "$$s" --config $(SPACE) \
			--notes "optimizer comparison, $(TRIALS) quasi-random trials" \
			--command "make -f share/examples/demo.mk OUT=$(OUT) TRIALS=$(TRIALS) STEPS=$(STEPS)" || exit 1; \
	done
	$(tp)tp-track -d $(TRACK) ingest -q $(RUNS) $(OUT)/test.tpr
	touch $@
$(OUT)/table.txt: $(TRACK)/.ingested
	$(tp)tp-track -d $(TRACK) table -o $@
$(OUT)/compare.txt: $(TRACK)/.ingested
	$(tp)tp-track -d $(TRACK) compare -o $@
$(OUT)/check.txt: $(TRACK)/.ingested
	$(tp)tp-track -d $(TRACK) check --space $(SPACE) >$@; rc=$$?; [ $$rc = 0 ] || [ $$rc = 7 ]
$(OUT)/plots/.done: $(TRACK)/.ingested
	@mkdir -p $(@D)
	for s in $$(tail -n +2 $(OUT)/trials.tsv | cut -f1 | sort -u); do \
		f=$$(echo "$$s" | tr '/=' '__'); \
		$(tp)tp-track -d $(TRACK) curves --study "$$s" -o $(@D)/curves-$$f.svg && \
		$(tp)tp-track -d $(TRACK) axis --study "$$s" -p lr -o $(@D)/axis-lr-$$f.svg || exit 1; \
	done
	touch $@

# 7. What a person reads.
$(OUT)/summary.txt: $(OUT)/table.txt $(OUT)/compare.txt $(OUT)/check.txt $(OUT)/plots/.done $(OUT)/test.tpr
	{ echo "== The round: $$(grep '^goal' $(SPACE) | cut -d' ' -f2-)"; \
	  echo; echo "== Studies (best validation error at any evaluated step)"; cat $(OUT)/table.txt; \
	  echo; echo "== Best trial of each study, side by side"; cat $(OUT)/compare.txt; \
	  echo; echo "== Test split, best checkpoint of each study"; \
	  $(tp)tp-cat -t eval -k study,trial,step,accuracy,checkpoint $(OUT)/test.tpr; \
	  echo; echo "== What check found"; cat $(OUT)/check.txt; \
	  echo; echo "== Sanity check"; cat $(OUT)/overfit.txt; \
	  echo; echo "== Plots"; ls $(OUT)/plots/*.svg; } >$@.tmp && mv $@.tmp $@

clean:
	rm -rf $(OUT)
