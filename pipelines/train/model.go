package train

import (
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/transforms"
)

// The model registry and the in-memory data set moved to models and
// transforms; these names keep the callers of train's API building while
// they move over.
type (
	ModelSpec   = models.Spec
	ModelConfig = models.Config
	SideFile    = models.SideFile
	ItemText    = models.ItemText
	Data        = transforms.Dataset
)

var (
	// Models lists the model names a config's model: accepts.
	Models = models.Names
	// ParseModelConfig is models.ParseConfig.
	ParseModelConfig = models.ParseConfig
	// BuildModel is models.Build.
	BuildModel = models.Build
	// LoadModel is models.Load.
	LoadModel = models.Load
	// ModelFromCheckpoint is models.FromCheckpoint.
	ModelFromCheckpoint = models.FromCheckpoint
	// CheckCatalogue is models.CheckData.
	CheckCatalogue = models.CheckData
	// CheckpointCatalogue is models.CheckpointCatalogue.
	CheckpointCatalogue = models.CheckpointCatalogue
	// LoadData is transforms.LoadDataset.
	LoadData = transforms.LoadDataset
)
